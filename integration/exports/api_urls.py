from django.urls import path

from integration.exports import api
from madoguchi.api import API_ROOT_LINKS

app_name = "integration_exports_api"

urlpatterns = [
    path("", api.kinds_view, name="kinds"),
    path("<slug:kind>/", api.pull_view, name="pull"),
    path("<slug:kind>/ack/", api.ack_view, name="ack"),
]

if ("integration_exports", "api:integration_exports_api:kinds") not in API_ROOT_LINKS:
    API_ROOT_LINKS.append(("integration_exports", "api:integration_exports_api:kinds"))
