// Live tail: new events from the admin API's Server-Sent Events stream.
(function () {
  var status = document.getElementById("status");
  var body = document.getElementById("tail");
  var src = new EventSource("/api/v1/stream?" + status.dataset.query);
  src.onopen = function () { status.textContent = "Live: new events appear on top."; };
  src.onerror = function () { status.textContent = "Disconnected; retrying…"; };
  src.addEventListener("event", function (m) {
    var e = JSON.parse(m.data);
    var tr = document.createElement("tr");
    [e.receivedat, e.platform, e.type].forEach(function (v) {
      var td = document.createElement("td"); td.textContent = v || ""; tr.appendChild(td);
    });
    var td = document.createElement("td"), a = document.createElement("a");
    a.href = "/ui/events/" + encodeURIComponent(e.id); a.textContent = e.id; td.appendChild(a); tr.appendChild(td);
    body.insertBefore(tr, body.firstChild);
  });
})();
