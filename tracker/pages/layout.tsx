import type { Child } from 'hono/jsx';

export function Layout(props: { title: string; children: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{props.title} · patchwork tracker</title>
        <link rel="stylesheet" href="/static/styles.css" />
        <script src="/static/htmx.min.js" defer></script>
      </head>
      <body>
        <header>
          <strong>patchwork</strong>
          <a href="/runs">runs</a>
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}
