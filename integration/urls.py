from django.urls import path

from integration import views

app_name = "integration"

urlpatterns = [
    path("", views.index_view, name="index"),
    path("runs/<int:pk>/", views.run_view, name="run"),
    path("runs/<int:pk>/errors.csv", views.run_errors_view, name="run_errors"),
    path("runs/<int:pk>/progress/", views.run_progress_view, name="run_progress"),
    path("runs/<int:pk>/retry/", views.run_retry_view, name="run_retry"),
    path("layouts/", views.layouts_view, name="layouts"),
    path("layouts/new/", views.layout_new_view, name="layout_new"),
    path("layouts/<slug:key>/", views.layout_view, name="layout"),
    path("layouts/<slug:key>/edit/", views.layout_edit_view, name="layout_edit"),
    path("layouts/<slug:key>/export/", views.layout_export_view, name="layout_export"),
    path("gaiji/", views.gaiji_view, name="gaiji"),
    path("disclosure/", views.disclosure_view, name="disclosure"),
    path("disclosure/download/", views.disclosure_download_view, name="disclosure_download"),
    path("disclosure/document.pdf", views.disclosure_pdf_view, name="disclosure_pdf"),
]
