from django.urls import path

from integration.api import views

app_name = "integration_api"

urlpatterns = [
    path("imports/", views.ImportListCreateView.as_view(), name="imports"),
    path("imports/<int:pk>/", views.ImportDetailView.as_view(), name="import"),
]
