"""URLs on a municipality's host (<slug>.<BASE_DOMAIN>)."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from madoguchi import api
from tenants.accounts import views as account_views

handler403 = "madoguchi.views.permission_denied"
handler404 = "madoguchi.views.not_found"
handler500 = "madoguchi.views.server_error"


@extend_schema(exclude=True)
class DocsView(SpectacularSwaggerView):
    """Swagger UI needs inline styles; the relaxed policy applies to this page only."""

    def get(self, request, *args, **kwargs):  # noqa: ANN001,ANN201
        response = super().get(request, *args, **kwargs)
        response.csp_override = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
        )
        return response


api_v1 = [
    path("", api.api_root, name="root"),
    path("me/", api.me, name="me"),
    path("integration/exports/", include("integration.exports.api_urls")),
    path("integration/", include("integration.api.urls")),
    path("navigation/", include("navigation.api.urls")),
]

urlpatterns = [
    path("", account_views.home_view, name="home"),
    path("accounts/", include("tenants.accounts.urls")),
    path("linkage/exports/", include("integration.exports.urls")),
    path("linkage/", include("integration.urls")),
    path("navi/", include("navigation.urls")),
    path("mynacard/", include("mynacard.urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
]
