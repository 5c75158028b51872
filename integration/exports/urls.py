from django.urls import path

from integration.exports import views

app_name = "integration_exports"

urlpatterns = [
    path("", views.index_view, name="index"),
    path("layouts/", views.layouts_view, name="layouts"),
    path("layouts/<int:pk>/delete/", views.layout_delete_view, name="layout_delete"),
    path("layouts/<slug:kind>/new/", views.layout_edit_view, name="layout_new"),
    path("layouts/<slug:kind>/<slug:code>/edit/", views.layout_edit_view, name="layout_edit"),
    path("<slug:kind>/", views.kind_view, name="kind"),
    path("<slug:kind>/download/", views.download_view, name="download"),
    path("<slug:kind>/schedule/", views.schedule_view, name="schedule"),
    path("<slug:kind>/layouts/<slug:code>.json", views.layout_json_view, name="layout_json"),
]
