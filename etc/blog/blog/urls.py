from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("whoami", views.whoami, name="whoami"),
    path("healthz", views.healthz, name="healthz"),
    path("task/add", views.task_add, name="task-add"),
    path("task/sleep", views.task_sleep, name="task-sleep"),
    path("task/<str:task_id>", views.task_result, name="task-result"),
]
