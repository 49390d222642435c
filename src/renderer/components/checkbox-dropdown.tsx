import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react'

export interface CheckboxDropdownProps<T extends string> {
  label: string
  values: readonly T[]
  selected: readonly T[]
  onChange: (selected: T[]) => void
  /** shown beside each value, as "value (count)" */
  counts?: ReadonlyMap<string, number>
  /** the panel opened (a chance to refresh the counts) */
  onOpen?: () => void
}

/** What the closed button says: "Any", the one value, or how many. */
export function dropdownSummary(selected: readonly string[]): string {
  if (selected.length === 0) return 'Any'
  return selected.length === 1 ? selected[0]! : `${selected.length} selected`
}

/**
 * Several values of one filter: a disclosure button (aria-expanded) opening a labelled group of
 * checkboxes. Each checkbox applies at once; Escape closes and gives the focus back to the
 * button, as do a click outside and Tab out of the group. Arrows, Home and End move between the
 * checkboxes.
 */
export function CheckboxDropdown<T extends string>(props: CheckboxDropdownProps<T>): ReactNode {
  const { label, values, selected, onChange, counts, onOpen } = props
  const [open, setOpen] = useState(false)
  // the boxes show a change at once; `selected` catches up once the route has changed
  const [shown, setShown] = useState(selected)
  const [prevSelected, setPrevSelected] = useState(selected)
  if (prevSelected !== selected) {
    setPrevSelected(selected)
    setShown(selected)
  }
  const id = useId()
  const rootRef = useRef<HTMLDivElement>(null)
  const buttonRef = useRef<HTMLButtonElement>(null)
  const panelRef = useRef<HTMLDivElement>(null)

  useEffect(() => {
    if (!open) return
    const onPointerDown = (e: PointerEvent): void => {
      if (!rootRef.current?.contains(e.target as Node)) setOpen(false)
    }
    document.addEventListener('pointerdown', onPointerDown)
    return () => document.removeEventListener('pointerdown', onPointerDown)
  }, [open])

  const boxes = (): HTMLInputElement[] => [...(panelRef.current?.querySelectorAll<HTMLInputElement>('input[type=checkbox]') ?? [])]

  const show = (focusFirst: boolean): void => {
    setOpen(true)
    onOpen?.()
    // the panel renders on this update; focus its first checkbox after it
    if (focusFirst) requestAnimationFrame(() => boxes()[0]?.focus())
  }

  const close = (): void => {
    setOpen(false)
    buttonRef.current?.focus()
  }

  const onPanelKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const list = boxes()
    const at = list.indexOf(document.activeElement as HTMLInputElement)
    const next =
      e.key === 'ArrowDown' ? Math.min(list.length - 1, at + 1) : e.key === 'ArrowUp' ? Math.max(0, at - 1) : e.key === 'Home' ? 0 : e.key === 'End' ? list.length - 1 : -1
    if (next < 0) return
    e.preventDefault()
    list[next]?.focus()
  }

  const toggle = (v: T, checked: boolean): void => {
    const next = checked ? [...shown.filter((x) => x !== v), v] : shown.filter((x) => x !== v)
    setShown(next)
    onChange(next)
  }

  return (
    <div
      className="filter dropdown"
      ref={rootRef}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && open) {
          // the detail panel also closes on Escape: this one is the dropdown's
          e.preventDefault()
          e.stopPropagation()
          close()
        }
      }}
      onBlur={(e) => {
        if (open && e.relatedTarget && !rootRef.current?.contains(e.relatedTarget as Node)) setOpen(false)
      }}
    >
      <span id={`${id}-label`}>{label}</span>
      <button
        type="button"
        ref={buttonRef}
        id={`${id}-button`}
        className="dropdown-button"
        aria-expanded={open}
        aria-controls={`${id}-panel`}
        aria-labelledby={`${id}-label ${id}-button`}
        onClick={() => (open ? setOpen(false) : show(false))}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' && !open) {
            e.preventDefault()
            show(true)
          }
        }}
      >
        {dropdownSummary(shown)}
        <span aria-hidden="true"> ▾</span>
      </button>
      {open && (
        <div role="group" id={`${id}-panel`} aria-labelledby={`${id}-label`} className="dropdown-panel" ref={panelRef} tabIndex={-1} onKeyDown={onPanelKeyDown}>
          {values.map((v) => (
            <label key={v}>
              <input type="checkbox" checked={shown.includes(v)} onChange={(e) => toggle(v, e.currentTarget.checked)} />
              {v}
              {counts?.has(v) ? <span className="muted"> ({counts.get(v)})</span> : null}
            </label>
          ))}
        </div>
      )}
    </div>
  )
}
