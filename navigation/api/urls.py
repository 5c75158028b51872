from django.urls import path

from navigation.api import views

app_name = "navigation_api"

urlpatterns: list = [
    path("catalogue/", views.CatalogueView.as_view(), name="catalogue"),
    path("determination/", views.DeterminationView.as_view(), name="determination"),
]
