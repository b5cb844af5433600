/* The training node's banner (`node serve --training`, seed 001 p.28.4). The node adds this module
   and training.css to the head of every page it serves, and only on a training node: the
   console, the citizen and appeal pages, the widget's page and the meeting pages. The banner
   stays on top of every screen in both languages at once, so that no page of demo data is taken
   for real work, whatever language the page is in; the tab's title says so too. */
import texts from './texts.js';

var ID = 'training-banner';

function banner() {
  var el = document.createElement('div');
  el.id = ID;
  el.className = 'training-banner';
  el.setAttribute('role', 'status');
  el.setAttribute('data-testid', ID);
  ['kk', 'ru'].forEach(function (l) {
    var part = document.createElement('span');
    part.lang = l;
    part.setAttribute('data-lang', l);
    part.textContent = texts[l]['training.banner'];
    el.appendChild(part);
  });
  return el;
}

function titled() {
  var prefix = texts.kk['training.title'] + ' / ' + texts.ru['training.title'] + ' — ';
  if (document.title.indexOf(prefix) !== 0) document.title = prefix + document.title;
}

function mark() {
  document.documentElement.classList.add('training');
  if (document.body && !document.getElementById(ID)) document.body.insertBefore(banner(), document.body.firstChild);
  titled();
}

mark();
// A page that rebuilds its body or its title gets the marks back.
new MutationObserver(mark).observe(document.body, { childList: true });
var head = document.querySelector('title');
if (head) new MutationObserver(titled).observe(head, { childList: true, characterData: true, subtree: true });
