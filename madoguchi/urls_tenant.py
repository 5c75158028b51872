"""URLs on a municipality's host (<slug>.<BASE_DOMAIN>)."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from madoguchi import api
from tenants.accounts import views as account_views

handler403 = "madoguchi.views.permission_denied"
handler404 = "madoguchi.views.not_found"
handler500 = "madoguchi.views.server_error"


@extend_schema(exclude=True)
class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI under the strict CSP: the start-up script comes from this view (``?script``) instead of
    an inline <script>, and the page's styles from static/css/swagger.css instead of an inline <style>."""

    template_name = "api/swagger_ui.html"


api_v1 = [
    path("", api.api_root, name="root"),
    path("me/", api.me, name="me"),
    path("integration/exports/", include("integration.exports.api_urls")),
    path("integration/", include("integration.api.urls")),
    path("navigation/", include("navigation.api.urls")),
]

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's language switch
    path("", account_views.home_view, name="home"),
    path("accounts/", include("tenants.accounts.urls")),
    path("linkage/exports/", include("integration.exports.urls")),
    path("linkage/", include("integration.urls")),
    path("forms/", include("forms_builder.urls")),
    path("tablet/", include("forms_builder.tablet.urls")),
    path("navi/", include("navigation.urls")),
    path("audit/", include("audit.urls")),
    path("mynacard/", include("mynacard.urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
]
