from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import SimpleRouter
from tickets.views import ProjectViewSet, RegisterView, TicketViewSet, health, stats

router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="ticket")
router.register("projects", ProjectViewSet, basename="project")

urlpatterns = [
    path("api/health/", health),
    path("api/register/", RegisterView.as_view()),
    path("api/token/", obtain_auth_token),
    path("api/stats/", stats),
    path("api/schema/", SpectacularAPIView.as_view()),
    path("api/", include(router.urls)),
]
