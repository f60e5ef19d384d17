from django.urls import path

from dossier import views

app_name = "dossier"

urlpatterns = [
    path("shared/", views.shared_with_us, name="shared"),
    path("consignments/<int:pk>/", views.dossier_page, name="page"),
    path("consignments/<int:pk>/panel/", views.dossier_panel, name="panel"),
    path("consignments/<int:pk>/upload/", views.document_upload, name="upload"),
    path("consignments/<int:pk>/dossier.zip", views.dossier_zip, name="zip"),
    path("consignments/<int:pk>/shares/", views.share_create, name="share-create"),
    path("consignments/<int:pk>/shares/<str:eori>/end/", views.share_end, name="share-end"),
    path("documents/<int:pk>/download/", views.document_download, name="download"),
    path("documents/<int:pk>/preview/", views.document_preview, name="preview"),
]
