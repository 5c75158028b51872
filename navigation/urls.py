app_name = "navigation"

urlpatterns: list = []
