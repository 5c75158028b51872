from django.urls import include, path

from navigation import views

app_name = "navigation"

urlpatterns: list = [
    path("cases/", include("navigation.cases.urls")),
    path("admin/", views.catalogue_home, name="admin_home"),
    path("admin/publish/", views.publish, name="admin_publish"),
    path("admin/default/", views.install_default, name="admin_install_default"),
    path("admin/export/", views.export, name="admin_export"),
    path("admin/import/", views.import_view, name="admin_import"),
    path("admin/try/", views.try_it, name="admin_try"),
    path("admin/counters/", views.counter_mapping, name="admin_counters"),
    path("admin/<str:section>/", views.item_list, name="admin_list"),
    path("admin/<str:section>/new/", views.item_edit, name="admin_new"),
    path("admin/<str:section>/<int:pk>/", views.item_edit, name="admin_edit"),
    path("admin/<str:section>/<int:pk>/delete/", views.item_delete, name="admin_delete"),
]
