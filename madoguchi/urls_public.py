"""URLs on the vendor operations host (ops.<BASE_DOMAIN>): Django admin over the public schema only."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

admin.site.site_header = _("Madoguchi 事業者運用")
admin.site.site_title = _("Madoguchi 事業者運用")
admin.site.index_title = _("自治体・契約の管理")

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's language switch
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]
