// Times in the viewer's time zone, with UTC on hover; the page reads
// correctly (in UTC) without this script.
document.querySelectorAll("time[datetime]").forEach(function (t) {
  var when = new Date(t.getAttribute("datetime"));
  if (isNaN(when.getTime())) { return; }
  t.title = t.getAttribute("datetime") + " (UTC)";
  t.textContent = when.toLocaleString();
});
// The current section is marked in the navigation.
document.querySelectorAll("nav.admin a").forEach(function (a) {
  var here = location.pathname;
  var href = a.getAttribute("href");
  if (here === href || (href !== "/admin" && here.indexOf(href + "/") === 0)) { a.setAttribute("aria-current", "page"); }
});
// A metadata file chosen is read into the form's text box.
var file = document.getElementById("metadata_file");
if (file) {
  file.addEventListener("change", function () {
    if (!file.files.length) { return; }
    file.files[0].text().then(function (text) { document.getElementById("metadata").value = text; });
  });
}
