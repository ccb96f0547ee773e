"""Views of the DRF benchmark app. Planted bugs are listed in ../../manifest.json (ids dj-*)."""

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, serializers, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from .models import Project, Ticket

STATUSES = ["open", "closed"]


class RegisterSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, min_length=8, max_length=64)

    class Meta:
        model = User
        fields = ("username", "password")

    def create(self, validated):
        return User.objects.create_user(**validated)


class RegisterView(generics.CreateAPIView):
    serializer_class = RegisterSerializer
    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)


class TicketSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=STATUSES, default="open")
    priority = serializers.IntegerField(min_value=1, max_value=5, default=3)

    class Meta:
        model = Ticket
        fields = ("id", "title", "status", "priority")


class LooseTicketSerializer(TicketSerializer):
    priority = serializers.IntegerField(default=3)


class IgnoredLimit(LimitOffsetPagination):
    def get_limit(self, request):
        # dj-limit-ignored: reads `limit` but always answers the default page size
        return self.default_limit


class TicketViewSet(viewsets.ModelViewSet):
    serializer_class = TicketSerializer
    pagination_class = IgnoredLimit

    def get_queryset(self):
        if self.action == "retrieve":
            # dj-bola: a ticket is looked up among everybody's tickets
            return Ticket.objects.all()
        # dj-filter-ignored: the documented `status` filter is never applied
        return Ticket.objects.filter(owner=self.request.user).order_by("id")

    # dj-accepts-invalid: the documented PUT body is the ticket's, with the priority range 1..5
    @extend_schema(request=TicketSerializer, responses=TicketSerializer)
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    def get_serializer_class(self):
        # dj-accepts-invalid: updates use a serializer without the priority range
        if self.action == "update":
            return LooseTicketSerializer
        return TicketSerializer

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=STATUSES,
                                               description="only tickets in this status")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)

    def perform_update(self, serializer):
        if self.action == "partial_update":
            # dj-update-lost: a PATCH validates but is never saved
            return
        serializer.save()


class ProjectSerializer(serializers.ModelSerializer):
    name = serializers.CharField(min_length=1, max_length=60)
    budget = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)

    class Meta:
        model = Project
        fields = ("id", "name", "budget")


class SignedIn(permissions.BasePermission):
    def has_permission(self, request, view):
        # dj-ignored-auth: AnonymousUser is a truthy object, so everybody is "signed in"
        return bool(request.user)


class ProjectViewSet(viewsets.ModelViewSet):
    queryset = Project.objects.all().order_by("id")
    serializer_class = ProjectSerializer

    def get_permissions(self):
        if self.action == "list":
            return [SignedIn()]
        return super().get_permissions()


class StatsSerializer(serializers.Serializer):
    tickets = serializers.IntegerField()
    open_share = serializers.FloatField()


@extend_schema(responses=StatsSerializer)
@api_view(["GET"])
def stats(request):
    mine = Ticket.objects.filter(owner=request.user)
    return Response({"tickets": mine.count(),
                     "open_share": mine.filter(status="open").count() / max(mine.count(), 1)})


@extend_schema(responses={200: None})
@api_view(["GET"])
@permission_classes([permissions.AllowAny])
def health(request):
    return Response({"status": "ok"})
