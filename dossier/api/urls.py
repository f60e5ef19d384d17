from django.urls import path

from dossier.api import views

urlpatterns = [
    path(
        "consignments/<int:pk>/documents/",
        views.ConsignmentDocumentsView.as_view(),
        name="dossier-documents",
    ),
    path("consignments/<int:pk>/dossier/", views.DossierView.as_view(), name="dossier-dossier"),
    path("consignments/<int:pk>/dossier.zip", views.DossierZipView.as_view(), name="dossier-zip"),
    path("consignments/<int:pk>/shares/", views.SharesView.as_view(), name="dossier-shares"),
    path(
        "consignments/<int:pk>/shares/<str:eori>/",
        views.ShareView.as_view(),
        name="dossier-share",
    ),
    path("documents/<int:pk>/", views.DocumentView.as_view(), name="dossier-document"),
    path(
        "documents/<int:pk>/download/",
        views.DocumentDownloadView.as_view(),
        name="dossier-document-download",
    ),
    path(
        "documents/<int:pk>/access-log/",
        views.DocumentAccessLogView.as_view(),
        name="dossier-document-access-log",
    ),
    path("dossier/partner-files/", views.PartnerFileView.as_view(), name="dossier-partner-files"),
    path("dossier/signing-key/", views.SigningKeyView.as_view(), name="dossier-signing-key"),
]
