app_name = "navigation_api"

urlpatterns: list = []
