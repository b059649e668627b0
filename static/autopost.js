// Sends the signed response on to the service provider without a click.
document.getElementById("autopost").submit();
