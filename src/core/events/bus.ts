import type { CoreEventMap, CoreEventName } from '../../shared/events'

export type EventListener<K extends CoreEventName> = (payload: CoreEventMap[K], name: K) => void
export type AnyEventListener = <K extends CoreEventName>(name: K, payload: CoreEventMap[K]) => void

/**
 * A typed, synchronous event bus. Listeners must be cheap (they run on the emitter's stack);
 * a throwing listener is isolated so one bad subscriber cannot break recording or a call.
 */
export class EventBus {
  private readonly listeners = new Map<CoreEventName, Set<EventListener<never>>>()
  private readonly anyListeners = new Set<AnyEventListener>()
  private readonly onListenerError: (err: unknown) => void

  constructor(onListenerError: (err: unknown) => void = () => {}) {
    this.onListenerError = onListenerError
  }

  on<K extends CoreEventName>(name: K, listener: EventListener<K>): () => void {
    let set = this.listeners.get(name)
    if (!set) this.listeners.set(name, (set = new Set()))
    set.add(listener as EventListener<never>)
    return () => set.delete(listener as EventListener<never>)
  }

  onAny(listener: AnyEventListener): () => void {
    this.anyListeners.add(listener)
    return () => this.anyListeners.delete(listener)
  }

  emit<K extends CoreEventName>(name: K, payload: CoreEventMap[K]): void {
    const set = this.listeners.get(name)
    if (set) {
      for (const l of set) {
        try {
          ;(l as EventListener<K>)(payload, name)
        } catch (err) {
          this.onListenerError(err)
        }
      }
    }
    for (const l of this.anyListeners) {
      try {
        l(name, payload)
      } catch (err) {
        this.onListenerError(err)
      }
    }
  }
}
