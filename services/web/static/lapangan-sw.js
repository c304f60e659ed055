// The field page's service worker: the page and its files are kept so the app opens with no
// connection; everything under /lapangan/api/ always goes to the network (nothing personal is cached
// here: visits and outcomes live in the page's IndexedDB).
"use strict";
var SHELL = "ektp-lapangan-v1";
var FILES = ["/lapangan/", "/static/lapangan.js", "/static/app.css", "/static/ikon.svg", "/lapangan/manifest.webmanifest"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(FILES); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== SHELL; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.indexOf("/lapangan/api/") === 0) {
    return;
  }
  var shellPath = FILES.indexOf(url.pathname) >= 0;
  if (!shellPath) { return; }
  // Network first (a fresh page and session when online), the kept copy when offline.
  event.respondWith(fetch(event.request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(SHELL).then(function (cache) { cache.put(url.pathname, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(url.pathname);
  }));
});
