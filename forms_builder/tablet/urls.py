from django.urls import path

from forms_builder.tablet import views

app_name = "forms_tablet"

urlpatterns = [
    path("", views.tablet_view, name="tablet"),
    path("pair/", views.pair_view, name="pair"),
    path("state/", views.state_view, name="state"),
    path("push/<int:push_id>/page/<int:number>/", views.page_view, name="page"),
    path("push/<int:push_id>/sign/", views.sign_view, name="sign"),
    path("push/<int:push_id>/correction/", views.correction_view, name="correction"),
    path("desk/", views.desk_view, name="desk"),
    path("desk/code/", views.code_view, name="code"),
    path("desk/tablets/<int:pk>/unpair/", views.unpair_view, name="unpair"),
    path("cases/<int:pk>/panel/", views.case_panel_view, name="case_panel"),
    path("cases/<int:pk>/recall/", views.recall_view, name="recall"),
    path("cases/<int:pk>/signed/", views.signed_pdf_view, name="signed_pdf"),
]
