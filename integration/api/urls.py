app_name = "integration_api"

urlpatterns: list = []
