// Which methods each known path takes, for 405 Method Not Allowed with its Allow header.

/**
 * Route templates (`/users/:id/points/charge`) with their methods, matched against a concrete
 * path. A parameter matches one non-empty segment, as in Fastify's router.
 *
 * ```ts
 * const methods = new RouteMethods();
 * methods.add('POST', '/orders/:id/pay');
 * methods.allowed('/orders/o1/pay'); // → ['POST']
 * ```
 */
export class RouteMethods {
  private readonly routes: Array<{ readonly pattern: RegExp; readonly method: string }> = [];

  add(method: string, url: string): void {
    const pattern = new RegExp(`^${url.split('/').map((s) => (s.startsWith(':') ? '[^/]+' : s === '*' ? '.*' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}/?$`);
    this.routes.push({ pattern, method });
  }

  /** The methods some route takes at `path`, sorted; empty when no route has the path. */
  allowed(path: string): string[] {
    const methods = new Set(this.routes.filter((r) => r.pattern.test(path)).map((r) => r.method));
    return [...methods].sort();
  }
}
