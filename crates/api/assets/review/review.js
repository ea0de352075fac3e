// The review pages' script: signing out, the case page's actions (through the same /api/v1
// calls any client makes, with If-Match and an Idempotency-Key) and its map (OpenLayers on a
// 2D canvas: no WebGL needed).
(function () {
  'use strict';
  var KEY = 'landuse.review.token';
  var root = document.documentElement;

  function token() {
    return sessionStorage.getItem(KEY) || '';
  }

  var signOut = document.getElementById('sign-out');
  if (signOut) {
    signOut.addEventListener('click', function () {
      sessionStorage.removeItem(KEY);
      location.reload();
    });
  }

  var dataElement = document.getElementById('case-data');
  if (!dataElement) {
    root.dataset.mapReady = 'none';
    return;
  }
  var data = JSON.parse(dataElement.textContent);
  window.review = { data: data };

  // --- actions ---------------------------------------------------------------------------
  // A random (v4) UUID from getRandomValues, which works on plain-HTTP intranet hosts where
  // crypto.randomUUID does not.
  function newKey() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  var problem = document.getElementById('problem');
  function showProblem(p) {
    var text = (p && (p.detail || p.title)) || '请求失败';
    if (p && p.status) text = p.status + '：' + text;
    problem.textContent = text;
    problem.hidden = false;
  }

  // One write. The key is kept on the control until the write succeeds, so a retry after a
  // lost answer is the same request and acts once.
  function write(control, path, body) {
    control.dataset.key = control.dataset.key || newKey();
    control.disabled = true;
    var headers = {
      Authorization: 'Bearer ' + token(),
      'Idempotency-Key': control.dataset.key,
      'If-Match': data.etag,
      Accept: 'application/json'
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(path, {
      method: 'POST',
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store'
    }).then(function (response) {
      if (response.ok) {
        location.reload();
        return;
      }
      return response.json().catch(function () { return { status: response.status }; }).then(function (p) {
        if (!p.status) p.status = response.status;
        // Another request changed the case: a new key for the next attempt after reloading.
        if (response.status === 412) delete control.dataset.key;
        control.disabled = false;
        showProblem(p);
      });
    }).catch(function () {
      control.disabled = false;
      showProblem({ detail: '无法连接服务器，请重试（重试不会重复办理）。' });
    });
  }

  var api = '/api/v1/cases/' + data.case_id;
  var run = document.getElementById('run-check');
  if (run) run.addEventListener('click', function () { write(run, api + '/checks'); });
  var confirm = document.getElementById('confirm-check');
  if (confirm) {
    confirm.addEventListener('click', function () {
      write(confirm, api + '/checks/' + confirm.dataset.check + '/confirm');
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll('form.dismiss'), function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var reason = form.elements.reason.value.trim();
      var button = form.querySelector('button');
      write(button, api + '/checks/' + data.check_id + '/hits/' + form.dataset.hit + '/dismiss', { reason: reason });
    });
  });
  var pdf = document.getElementById('report-pdf');
  if (pdf) {
    pdf.addEventListener('click', function () {
      fetch(pdf.dataset.href, { headers: { Authorization: 'Bearer ' + token() }, credentials: 'omit' })
        .then(function (response) {
          if (!response.ok) return response.json().then(function (p) { throw p; });
          return response.blob();
        })
        .then(function (blob) {
          var a = document.createElement('a');
          a.href = URL.createObjectURL(blob);
          a.download = '审查报告-' + data.check_id + '.pdf';
          a.click();
          setTimeout(function () { URL.revokeObjectURL(a.href); }, 60000);
        })
        .catch(showProblem);
    });
  }

  // --- map -------------------------------------------------------------------------------
  if (typeof ol === 'undefined') return;
  var view3857 = 'EPSG:3857';
  var format = new ol.format.GeoJSON({ dataProjection: 'EPSG:4326', featureProjection: view3857 });
  var note = document.getElementById('map-note');

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + ((n >> 16) & 255) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + alpha + ')';
  }

  var parcels = new ol.source.Vector();
  data.parcels.forEach(function (p) {
    var feature = new ol.Feature(format.readGeometry(p.geometry));
    feature.set('name', p.name);
    parcels.addFeature(feature);
  });
  var hits = new ol.source.Vector();
  data.hits.forEach(function (h) {
    var feature = new ol.Feature(format.readGeometry(h.geometry));
    feature.setProperties({ kind: h.kind, colour: h.colour, dismissed: h.dismissed, hit: h.id, z: h.z });
    hits.addFeature(feature);
  });

  // The most severe rule on top: a farmland overlap is seen over the cultivated land under it.
  function hitStyle(feature) {
    var c = feature.get('colour');
    if (feature.get('dismissed')) {
      return new ol.style.Style({
        stroke: new ol.style.Stroke({ color: c, width: 2, lineDash: [6, 4] }),
        zIndex: 100
      });
    }
    return new ol.style.Style({
      fill: new ol.style.Fill({ color: c }),
      stroke: new ol.style.Stroke({ color: c, width: 1 }),
      zIndex: feature.get('z')
    });
  }

  var pending = 0;
  var loaded = false;
  function controlLayer(layer) {
    var source = new ol.source.Vector({
      strategy: ol.loadingstrategy.bbox,
      loader: function (extent, resolution, projection, success, failure) {
        var b = ol.proj.transformExtent(extent, projection, 'EPSG:4326');
        var bbox = [Math.max(b[0], -180), Math.max(b[1], -90), Math.min(b[2], 180), Math.min(b[3], 90)];
        pending += 1;
        fetch('/ogc/collections/' + layer.kind + '/items?limit=1000&bbox=' +
              bbox.map(function (v) { return v.toFixed(6); }).join(','), {
          headers: { Authorization: 'Bearer ' + token(), Accept: 'application/geo+json' },
          credentials: 'omit'
        }).then(function (response) {
          if (!response.ok) throw new Error(layer.name + '：' + response.status);
          return response.json();
        }).then(function (json) {
          var features = format.readFeatures(json);
          source.addFeatures(features);
          if (json.numberMatched && json.numberMatched > features.length) {
            note.textContent = layer.name + '：视图内要素较多，仅显示 ' + features.length + ' 个。';
          }
          success(features);
        }).catch(function (error) {
          note.textContent = '管控图层加载失败：' + error.message;
          source.removeLoadedExtent(extent);
          failure();
        }).then(function () {
          pending -= 1;
          loaded = true;
          map.render();
        });
      }
    });
    var style = new ol.style.Style({
      fill: new ol.style.Fill({ color: rgba(layer.colour, 0.14) }),
      stroke: new ol.style.Stroke({ color: rgba(layer.colour, 0.8), width: 1 }),
      image: new ol.style.Circle({
        radius: 5,
        fill: new ol.style.Fill({ color: rgba(layer.colour, 0.5) }),
        stroke: new ol.style.Stroke({ color: layer.colour, width: 1 })
      })
    });
    return new ol.layer.Vector({ source: source, style: style, maxResolution: 40, properties: { kind: layer.kind } });
  }

  var layers = [];
  if (data.basemap) {
    var options = { url: data.basemap.url, crossOrigin: null, attributions: data.basemap.attribution || undefined };
    if (data.basemap.grid === 'cgcs2000') {
      // Geographic CGCS2000 tiles (天地图 *_c): 2 × 1 tiles at level 1, drawn reprojected.
      var resolutions = [];
      for (var z = 0; z <= 18; z += 1) resolutions.push(1.40625 / Math.pow(2, z));
      options.projection = 'EPSG:4326';
      options.tileGrid = new ol.tilegrid.TileGrid({ extent: [-180, -90, 180, 90], origin: [-180, 90], resolutions: resolutions, tileSize: 256 });
    }
    layers.push(new ol.layer.Tile({ source: new ol.source.XYZ(options) }));
  }
  data.layers.forEach(function (layer) { layers.push(controlLayer(layer)); });
  layers.push(new ol.layer.Vector({ source: hits, style: hitStyle }));
  layers.push(new ol.layer.Vector({
    source: parcels,
    style: new ol.style.Style({ stroke: new ol.style.Stroke({ color: '#000000', width: 2 }) })
  }));

  var map = new ol.Map({
    target: 'map',
    layers: layers,
    view: new ol.View({ projection: view3857, maxZoom: 21 }),
    controls: ol.control.defaults.defaults({ rotate: false }).extend([
      new ol.control.ScaleLine({ units: 'metric', bar: true, steps: 4, text: true, minWidth: 140 })
    ])
  });
  // Room for the legend (top right), the zoom buttons and the scale bar.
  var padding = [40, 230, 60, 60];
  if (parcels.getFeatures().length) {
    map.getView().fit(parcels.getExtent(), { padding: padding, maxZoom: 19 });
  } else {
    note.textContent = '本案尚无地块。';
  }

  map.on('rendercomplete', function () {
    if (pending === 0 && (loaded || data.layers.length === 0)) root.dataset.mapReady = 'true';
  });

  function fitTo(features) {
    if (!features.length) return;
    var extent = ol.extent.createEmpty();
    features.forEach(function (f) { ol.extent.extend(extent, f.getGeometry().getExtent()); });
    map.getView().fit(extent, { padding: padding, maxZoom: 20 });
  }
  Array.prototype.forEach.call(document.querySelectorAll('tr.rule, tr.hit'), function (row) {
    function go() {
      var wanted = row.dataset.hit;
      fitTo(hits.getFeatures().filter(function (f) {
        return wanted ? f.get('hit') === wanted : f.get('kind') === row.dataset.kind;
      }));
    }
    row.addEventListener('click', function (event) {
      if (event.target.closest('form')) return;
      go();
    });
    row.addEventListener('keydown', function (event) { if (event.key === 'Enter') go(); });
  });

  // The legend: the case's parcels, each checked layer, a dismissed overlap.
  var legend = document.getElementById('legend');
  function entry(swatchStyle, label) {
    var item = document.createElement('div');
    var swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.setAttribute('style', swatchStyle);
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(label));
    legend.appendChild(item);
  }
  entry('background: transparent; border: 2px solid #000', '申请地块');
  // A layer's colour marks its overlaps (filled) and its features (tinted): "压占" only where
  // this case has an overlap of it.
  data.layers.forEach(function (layer) {
    var overlaps = data.hits.some(function (h) { return h.kind === layer.kind && !h.dismissed; });
    entry('background: ' + layer.colour, layer.name + (overlaps ? '（压占）' : ''));
  });
  entry('background: rgba(120,120,120,0.14); border: 1px solid #888', '管控要素（浅色）');
  entry('background: transparent; border: 2px dashed #888', '已排除的压占');

  // For the tests and for people: where a lon/lat point is on the screen.
  window.review.map = map;
  window.review.pixelOf = function (lon, lat) {
    var p = map.getPixelFromCoordinate(ol.proj.fromLonLat([lon, lat]));
    var rect = map.getTargetElement().getBoundingClientRect();
    return [rect.left + p[0], rect.top + p[1]];
  };
})();
