"""Loads a collection's vector tiles in QGIS (Debian's python3-qgis, QGIS 3.22) as a desktop
user would add them: a vector tile layer over the tile URL template, signed in through QGIS's
own authentication store (HTTP Basic, the API token as the password). Draws a box of the map
and prints, as JSON, whether the layer was valid and the colour drawn at each probe point:
fills are red, outlines blue, nothing is transparent.

Run by the tile tests with /usr/bin/python3 (PyQGIS is built for Debian's Python):
  qgis_render.py URL_TEMPLATE TOKEN FILL_LAYER OUTLINE_LAYER WEST,SOUTH,EAST,NORTH LON,LAT [LON,LAT...]
URL_TEMPLATE has {z}, {x} and {y} where the server wants them.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
work = tempfile.mkdtemp(prefix="landuse-qgis-")
os.environ["QGIS_AUTH_DB_DIR_PATH"] = work
os.environ.setdefault("XDG_RUNTIME_DIR", work)

from qgis.core import (  # noqa: E402  (the environment must be set before QGIS loads)
    QgsApplication,
    QgsAuthMethodConfig,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDataSourceUri,
    QgsFillSymbol,
    QgsLineSymbol,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsVectorTileBasicRenderer,
    QgsVectorTileBasicRendererStyle,
    QgsVectorTileLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402


def main():
    template, token, fill, outline, bbox = sys.argv[1:6]
    probes = [tuple(float(v) for v in p.split(",")) for p in sys.argv[6:]]
    west, south, east, north = (float(v) for v in bbox.split(","))

    app = QgsApplication([], False)
    app.initQgis()
    auth = QgsApplication.authManager()
    auth.setMasterPassword("landuse-test", True)
    config = QgsAuthMethodConfig()
    config.setMethod("Basic")
    config.setName("landuse token")
    config.setConfig("username", "qgis")
    config.setConfig("password", token)
    auth.storeAuthenticationConfig(config)

    uri = QgsDataSourceUri()
    uri.setParam("type", "xyz")
    uri.setParam("url", template)
    uri.setParam("zmin", "0")
    uri.setParam("zmax", "16")
    uri.setAuthConfigId(config.id())
    layer = QgsVectorTileLayer(bytes(uri.encodedUri()).decode(), "landuse")
    # (layer.error().summary() crashes PyQGIS 3.22 here: validity is what there is to report.)
    out = {"valid": layer.isValid(), "probes": []}
    if not layer.isValid():
        print(json.dumps(out))
        return

    fills = QgsVectorTileBasicRendererStyle("fill", fill, QgsWkbTypes.PolygonGeometry)
    fills.setSymbol(QgsFillSymbol.createSimple({"color": "255,0,0,255", "outline_style": "no"}))
    lines = QgsVectorTileBasicRendererStyle("outline", outline, QgsWkbTypes.LineGeometry)
    lines.setSymbol(QgsLineSymbol.createSimple({"color": "0,0,255,255", "width": "0.3"}))
    renderer = QgsVectorTileBasicRenderer()
    renderer.setStyles([fills, lines])
    layer.setRenderer(renderer)

    mercator = QgsCoordinateReferenceSystem("EPSG:3857")
    to_map = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), mercator, QgsProject.instance())
    extent = to_map.transformBoundingBox(QgsRectangle(west, south, east, north))
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(mercator)
    settings.setOutputSize(QSize(512, 512))
    settings.setExtent(extent)
    settings.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    to_pixel = settings.mapToPixel()
    for lon, lat in probes:
        pixel = to_pixel.transform(to_map.transform(QgsPointXY(lon, lat)))
        colour = QColor(image.pixel(int(pixel.x()), int(pixel.y())))
        colour.setAlpha(image.pixelColor(int(pixel.x()), int(pixel.y())).alpha())
        out["probes"].append({"lon": lon, "lat": lat, "rgba": [colour.red(), colour.green(), colour.blue(), colour.alpha()]})
    out["errors"] = [f"{e.layerID}: {e.message}" for e in job.errors()]
    print(json.dumps(out))
    app.exitQgis()


if __name__ == "__main__":
    main()
