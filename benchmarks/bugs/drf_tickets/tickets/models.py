from django.conf import settings
from django.db import models


class Project(models.Model):
    name = models.CharField(max_length=60)
    budget = models.IntegerField(default=0)


class Ticket(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    title = models.CharField(max_length=80)
    status = models.CharField(max_length=10, default="open")
    priority = models.IntegerField(default=3)
