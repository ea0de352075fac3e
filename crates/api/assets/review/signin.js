// The sign-in form of the review pages. A page asked for without a token answers this form
// (401); with the token from the tab's session storage, or typed here, the script asks for the
// same page again with `Authorization: Bearer …` and writes the answer in place. The token is
// never a cookie: the browser has no credential of its own to send to this service.
(function () {
  'use strict';
  var KEY = 'landuse.review.token';
  var form = document.getElementById('signin-form');
  var error = document.getElementById('signin-error');

  function show(text) {
    error.textContent = text;
    error.hidden = false;
  }

  function open(token, typed) {
    fetch(location.href, {
      headers: { Authorization: 'Bearer ' + token, Accept: 'text/html' },
      cache: 'no-store',
      credentials: 'omit'
    }).then(function (response) {
      if (response.status === 401) {
        sessionStorage.removeItem(KEY);
        if (typed) show('令牌无效、已撤销或已过期（401）。');
        document.documentElement.dataset.signin = 'refused';
        return null;
      }
      return response.text();
    }).then(function (html) {
      if (html === null) return;
      sessionStorage.setItem(KEY, token);
      document.open();
      document.write(html);
      document.close();
    }).catch(function () {
      show('无法连接服务器，请稍后重试。');
    });
  }

  var stored = sessionStorage.getItem(KEY);
  if (stored) open(stored, false);
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var token = document.getElementById('token').value.trim();
    if (token) open(token, true);
  });
})();
