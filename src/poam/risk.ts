import { Risk } from '../findings/model.js'

/**
 * Qualys rating -> POA&M risk (design.md): PC criticality URGENT/CRITICAL -> High,
 * SERIOUS -> Moderate, MEDIUM/MINIMAL -> Low, missing or unknown -> Moderate (unrated
 * weaknesses are not silently downgraded); VM severity 4-5 High, 3 Moderate, 1-2 Low.
 */
export function riskFromCriticality (label: string | undefined, value?: number): Risk {
  switch ((label ?? '').trim().toUpperCase()) {
    case 'URGENT':
    case 'CRITICAL':
      return Risk.High
    case 'SERIOUS':
      return Risk.Moderate
    case 'MEDIUM':
    case 'MINIMAL':
      return Risk.Low
  }
  // Label absent: fall back to the numeric value (1..5 = MINIMAL..URGENT) when there is one.
  if (value !== undefined && Number.isInteger(value) && value >= 1 && value <= 5) {
    return value >= 4 ? Risk.High : value === 3 ? Risk.Moderate : Risk.Low
  }
  return Risk.Moderate
}

export function riskFromSeverity (severity: number): Risk {
  if (severity >= 4) return Risk.High
  if (severity === 3) return Risk.Moderate
  return Risk.Low
}
