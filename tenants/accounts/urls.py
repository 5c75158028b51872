from django.urls import path

from tenants.accounts import sessions, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("session/extend/", sessions.session_extend_view, name="session_extend"),
    path("counter/", views.select_counter_view, name="select_counter"),
    path("admin/counters/", views.counters_view, name="counters"),
    path("admin/counters/<int:pk>/", views.counters_view, name="counter_edit"),
    path("admin/staff/", views.staff_list_view, name="staff"),
    path("admin/staff/<int:pk>/", views.staff_edit_view, name="staff_edit"),
    path("admin/api-clients/", views.api_clients_view, name="api_clients"),
    path("admin/api-clients/<int:pk>/revoke/", views.api_client_revoke_view, name="api_client_revoke"),
]
