from django.urls import include, path

app_name = "navigation"

urlpatterns: list = [
    path("cases/", include("navigation.cases.urls")),
]
