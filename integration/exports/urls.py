from django.urls import path

from integration.exports import views

app_name = "integration_exports"

urlpatterns = [
    path("", views.index_view, name="index"),
    path("layouts/", views.layouts_view, name="layouts"),
    path("layouts/<int:pk>/delete/", views.layout_delete_view, name="layout_delete"),
    path("<slug:kind>/", views.kind_view, name="kind"),
    path("<slug:kind>/download/", views.download_view, name="download"),
    path("<slug:kind>/schedule/", views.schedule_view, name="schedule"),
    path("<slug:kind>/layouts/<slug:code>.json", views.layout_json_view, name="layout_json"),
]
