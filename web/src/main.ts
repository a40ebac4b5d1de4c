// The dashboard: header with the views (Live, Try it, History), the status panel beside them, an
// API-key prompt when the server asks for one. Views are built once and kept, so a recording or
// the live feed goes on while another view is open.
import './styles.css';
import { apiJson, AuthError, onAuthRequired, setApiKey } from './api.js';
import { h } from './dom.js';
import { MonitorClient } from './monitor.js';
import { HistoryView } from './views/history.js';
import { LiveView } from './views/live.js';
import { StatusPanel } from './views/status.js';
import { TryView } from './views/try.js';

type Route = 'live' | 'try' | 'history';
const ROUTES: Array<[Route, string]> = [
  ['live', 'Live'],
  ['try', 'Try it'],
  ['history', 'History'],
];

const monitor = new MonitorClient();
const live = new LiveView(monitor);
const tryIt = new TryView();
const history = new HistoryView();
const status = new StatusPanel(monitor);
const views: Record<Route, HTMLElement> = { live: live.el, try: tryIt.el, history: history.el };

const links = new Map<Route, HTMLAnchorElement>();
const nav = h(
  'nav',
  { class: 'tabs', 'aria-label': 'Views' },
  ...ROUTES.map(([route, label]) => {
    const a = h('a', { href: `#/${route}`, text: label, 'data-route': route });
    links.set(route, a);
    return a;
  }),
);

const main = h('main', { id: 'main', class: 'layout', tabindex: '-1' }, h('div', { class: 'views' }, ...Object.values(views)), status.el);
const keyDialog = buildKeyDialog();
document
  .getElementById('app')!
  .append(
    h(
      'header',
      { class: 'top' },
      h('a', { class: 'brand', href: '#/live', 'aria-label': 'Earshot home' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'Earshot'),
      nav,
    ),
    main,
    keyDialog,
  );

function currentRoute(): Route {
  const name = location.hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return ROUTES.some(([r]) => r === name) ? (name as Route) : 'live';
}

function show(route: Route): void {
  for (const [r, el] of Object.entries(views)) el.hidden = r !== route;
  for (const [r, a] of links) {
    if (r === route) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${ROUTES.find(([r]) => r === route)![1]} · Earshot`;
  if (route === 'history') history.refresh();
}

window.addEventListener('hashchange', () => {
  show(currentRoute());
  main.focus({ preventScroll: true });
});

// the skip link must not change the hash: that is the router's
document.querySelector<HTMLAnchorElement>('.skip-link')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

function buildKeyDialog(): HTMLDialogElement {
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'current-password', required: true });
  const dialog: HTMLDialogElement = h(
    'dialog',
    { class: 'key-dialog', 'aria-labelledby': 'key-title' },
    h(
      'form',
      {
        method: 'dialog',
        onsubmit: () => {
          setApiKey(input.value.trim());
          void boot();
        },
      },
      h('h2', { id: 'key-title', text: 'API key needed' }),
      h('p', { text: 'This Earshot server requires an API key. It is kept in this browser only.' }),
      h('label', { for: 'api-key', text: 'API key' }),
      input,
      h('div', { class: 'toolbar end' }, h('button', { type: 'submit', class: 'primary' }, 'Continue')),
    ),
  );
  return dialog;
}

onAuthRequired(() => {
  monitor.stop();
  if (!keyDialog.open) keyDialog.showModal();
});

async function boot(): Promise<void> {
  try {
    await apiJson('/api/config');
  } catch (err) {
    if (err instanceof AuthError) return; // the dialog is up
  }
  monitor.connect();
  if (currentRoute() === 'history') history.refresh();
}

show(currentRoute());
void boot();
