from django.urls import path

from forms_builder import views

app_name = "forms_builder"

urlpatterns = [
    path("cases/<int:pk>/", views.case_forms_view, name="case"),
    path("cases/<int:pk>/inputs/", views.case_inputs_view, name="inputs"),
    path("cases/<int:pk>/fill/", views.case_fill_view, name="fill"),
    path("cases/<int:pk>/certificate/", views.case_certificate_view, name="certificate"),
    path("cases/<int:pk>/preview/", views.case_preview_view, name="preview"),
    path("cases/<int:pk>/issue/", views.case_issue_view, name="issue"),
    path("documents/<int:pk>/", views.document_view, name="document"),
    path("addresses/", views.address_search_view, name="addresses"),
    path("addresses/upload/", views.addresses_upload_view, name="addresses_upload"),
    path("templates/", views.templates_view, name="templates"),
    path("templates/<str:code>/", views.template_view, name="template"),
    path("templates/<str:code>/editor/", views.template_editor_view, name="template_editor"),
    path("templates/<str:code>/editor/save/", views.template_editor_save_view, name="template_editor_save"),
    path("templates/<str:code>/editor/preview/", views.template_editor_preview_view, name="template_editor_preview"),
    path("templates/<str:code>/background.png", views.template_background_view, name="template_background"),
]
