// Copy buttons and the session countdown; the page works without them.
document.querySelectorAll("button.copy").forEach(function (b) {
  b.addEventListener("click", function () {
    var text = document.getElementById(b.dataset.copy).textContent;
    navigator.clipboard.writeText(text).then(function () { b.textContent = "Copied"; });
  });
});
var countdown = document.getElementById("countdown");
if (countdown) {
  var expires = Number(countdown.dataset.expires) * 1000;
  var tick = function () {
    var left = Math.max(0, Math.floor((expires - Date.now()) / 1000));
    countdown.textContent = left > 0
      ? "(" + Math.floor(left / 60) + " min " + (left % 60) + " s left)"
      : "(expired: sign in again)";
  };
  tick();
  setInterval(tick, 1000);
}
