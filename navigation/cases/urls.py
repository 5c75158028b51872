from django.urls import path

from navigation.cases import views

app_name = "cases"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("queue/", views.queue_view, name="queue"),
    path("search/", views.search_view, name="search"),
    path("new/", views.case_new_view, name="new"),
    path("new/newcomer/", views.case_new_newcomer_view, name="new_newcomer"),
    path("<int:pk>/", views.case_view, name="case"),
    path("<int:pk>/persons/add/", views.case_person_add_view, name="person_add"),
    path("<int:pk>/persons/newcomer/", views.case_newcomer_view, name="newcomer"),
    path("<int:pk>/persons/<int:person_pk>/remove/", views.case_person_remove_view, name="person_remove"),
    path("<int:pk>/persons/<int:person_pk>/subject/", views.case_person_subject_view, name="person_subject"),
    path("<int:pk>/events/", views.case_events_view, name="events"),
    path("<int:pk>/answers/", views.case_answers_view, name="answers"),
    path("<int:pk>/procedures/<int:proc_pk>/", views.case_procedure_view, name="procedure"),
    path("<int:pk>/procedures/complete/", views.case_procedures_complete_view, name="procedures_complete"),
    path("<int:pk>/handoff/", views.case_handoff_view, name="handoff"),
    path("<int:pk>/resume/", views.case_resume_view, name="resume"),
    path("<int:pk>/close/", views.case_close_view, name="close"),
    path("<int:pk>/corrections/", views.case_correction_view, name="correction"),
    path("<int:pk>/corrections/<int:correction_id>/signature/", views.case_correction_signature_view,
         name="correction_signature"),
    path("<int:pk>/memos/", views.case_memo_view, name="case_memo"),
    path("persons/<str:atena_no>/", views.person_view, name="person"),
    path("persons/<str:atena_no>/memos/", views.person_memo_view, name="person_memo"),
    path("memos/<int:memo_pk>/edit/", views.memo_edit_view, name="memo_edit"),
]
