from django.urls import path

from tracking import views

app_name = "tracking"

urlpatterns = [
    path("", views.consignment_list, name="list"),
    path("export.csv", views.consignment_export, name="export"),
    path("<int:pk>/", views.consignment_detail, name="detail"),
    path("<int:pk>/timeline/", views.consignment_timeline, name="timeline"),
]
