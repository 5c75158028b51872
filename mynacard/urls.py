from django.urls import path

from mynacard import api, views

app_name = "mynacard"

urlpatterns = [
    path("desk/", views.desk_view, name="desk"),
    path("desk/panel/", views.desk_panel_view, name="desk_panel"),
    path("desk/sit/", views.desk_sit_view, name="desk_sit"),
    path("stations/<int:pk>/confirm/", views.pin_confirm_view, name="pin_confirm"),
    path("reads/<int:pk>/attach/", views.attach_view, name="attach"),
    path("reads/<int:pk>/my-number/", views.my_number_view, name="my_number"),
    path("stations/<int:pk>/my-number/", views.my_number_request_view, name="my_number_request"),
    path("case/<int:case_id>/panel/", views.case_panel_view, name="case_panel"),
    path("case/<int:case_id>/identity/", views.identity_view, name="identity"),
    path("admin/stations/", views.admin_stations_view, name="admin_stations"),
    path("card-login/", views.card_login_view, name="card_login"),
    path("card-login/status/", views.card_login_status_view, name="card_login_status"),
    path("my-card/", views.my_card_view, name="my_card"),
    path("station/status/", api.status_view, name="station_status"),
    path("station/reads/", api.read_view, name="station_read"),
    path("station/jpki/", api.jpki_view, name="station_jpki"),
]
