/**
 * The console's only two assets, served from the gateway itself (no CDN, no
 * build step): one stylesheet and one small script (the copy buttons; every
 * page works without it). Kept here as text so dist/ carries them.
 * The look follows Ghost Admin's conventions (system font stack, 1.4rem base
 * on a 10px root, dark primary buttons, quiet grey rules) without any of its assets.
 */
export const CSS = `:root{--text:#15171a;--mid:#5d6b78;--rule:#e6e9eb;--bg:#fff;--soft:#f4f5f6;--accent:#15171a;--focus:#0b6bcb;--ok:#1f7a34;--bad:#b42318;--warn:#8a5a00;font-size:62.5%}
*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Oxygen,Ubuntu,Cantarell,"Fira Sans","Droid Sans","Helvetica Neue",sans-serif;font-size:1.5rem;line-height:1.5;color:var(--text);background:var(--bg);-webkit-font-smoothing:antialiased}
a{color:var(--text)}
a:hover{color:var(--focus)}
:focus-visible{outline:2px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px}
.skip:focus{left:1rem;top:1rem;background:#fff;padding:.8rem;z-index:9}
.shell{display:grid;grid-template-columns:22rem 1fr;min-height:100vh}
nav.side{border-right:1px solid var(--rule);padding:2.4rem 1.6rem;background:var(--soft)}
nav.side .brand{font-weight:700;font-size:1.6rem;margin:0 0 2.4rem .8rem;display:block;text-decoration:none}
nav.side ul{list-style:none;margin:0;padding:0}
nav.side a{display:block;padding:.6rem .8rem;border-radius:.5rem;text-decoration:none;color:var(--text);font-weight:500}
nav.side a[aria-current=page]{background:#e3e6e8}
nav.side .who{margin-top:3.2rem;font-size:1.3rem;color:var(--mid);padding:0 .8rem}
main{padding:3.2rem 4.8rem;max-width:112rem}
h1{font-size:3.2rem;line-height:1.15;letter-spacing:-.02em;margin:0 0 2.4rem;font-weight:700}
h2{font-size:2rem;margin:3.2rem 0 1.2rem;font-weight:600;letter-spacing:-.01em}
h3{font-size:1.6rem;margin:2.4rem 0 .8rem;font-weight:600}
p.hint,.hint{color:var(--mid);font-size:1.35rem}
table{border-collapse:collapse;width:100%;font-size:1.4rem}
th{text-align:left;font-weight:600;color:var(--mid);font-size:1.2rem;text-transform:uppercase;letter-spacing:.04em;border-bottom:1px solid var(--rule);padding:.8rem 1.2rem .8rem 0}
td{border-bottom:1px solid var(--rule);padding:1rem 1.2rem 1rem 0;vertical-align:top}
code,pre,.mono{font-family:"SFMono-Regular",Consolas,"Liberation Mono",Menlo,monospace;font-size:1.3rem}
pre{background:var(--soft);border:1px solid var(--rule);border-radius:.6rem;padding:1.2rem;overflow:auto;white-space:pre-wrap;word-break:break-all}
label{display:block;font-weight:600;margin:1.6rem 0 .4rem}
label.inline{display:inline-flex;gap:.6rem;align-items:center;font-weight:400;margin:.2rem 1.6rem .2rem 0}
input[type=text],input[type=email],input[type=password],input[type=search],input[type=number],select,textarea{font:inherit;font-size:1.5rem;padding:.8rem 1.2rem;border:1px solid #c9d0d6;border-radius:.5rem;min-width:28rem;background:#fff;color:var(--text)}
select{max-width:100%}
textarea{width:100%;min-height:12rem}
fieldset{border:1px solid var(--rule);border-radius:.8rem;padding:1.2rem 1.6rem;margin:1.6rem 0}
legend{font-weight:600;padding:0 .4rem}
.btn,button{font:inherit;font-weight:600;font-size:1.4rem;display:inline-block;padding:.8rem 1.6rem;border-radius:.5rem;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none}
.btn.quiet,button.quiet{background:#fff;color:var(--text);border-color:#c9d0d6}
.btn.danger,button.danger{background:var(--bad);border-color:var(--bad)}
.row{display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
.pill{display:inline-block;padding:.1rem .8rem;border-radius:99rem;font-size:1.2rem;font-weight:600;background:var(--soft);border:1px solid var(--rule)}
.pill.ok{color:var(--ok)}.pill.bad{color:var(--bad)}.pill.warn{color:var(--warn)}
.notice{border-left:4px solid var(--ok);background:#f1f8f3;padding:1.2rem 1.6rem;margin:1.6rem 0}
.notice.bad{border-color:var(--bad);background:#fdf3f2}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:2.4rem}
.groups{columns:2;column-gap:2.4rem}
.groups fieldset{break-inside:avoid;margin-top:0}
dl.facts{display:grid;grid-template-columns:16rem 1fr;gap:.6rem 1.6rem}
dl.facts dt{color:var(--mid)}
dl.facts dd{margin:0}
.chart{max-width:72rem}
.chart text{font-size:11px;fill:#5d6b78}
.center{max-width:44rem;margin:8rem auto;padding:0 2.4rem}
@media (max-width:800px){.shell{grid-template-columns:1fr}nav.side{border-right:0;border-bottom:1px solid var(--rule)}main{padding:2.4rem}.groups,.grid2{columns:1;grid-template-columns:1fr}}
`;

export const JS = `// ghostgate console: copy buttons (progressive enhancement; pages work without it).
document.addEventListener('click', function (e) {
  var b = e.target.closest && e.target.closest('button[data-copy]');
  if (!b) return;
  var el = document.getElementById(b.getAttribute('data-copy'));
  if (!el || !navigator.clipboard) return;
  navigator.clipboard.writeText(el.textContent.trim()).then(function () {
    var was = b.textContent;
    b.textContent = 'Copied';
    b.setAttribute('aria-live', 'polite');
    setTimeout(function () { b.textContent = was; }, 2000);
  });
});
document.querySelectorAll('button[data-copy]').forEach(function (b) { b.hidden = false; });
`;
