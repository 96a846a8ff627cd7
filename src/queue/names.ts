export const QUEUE = { inbound: 'inbound', maintenance: 'maintenance' } as const;
export const JOB = { deliver: 'deliver' } as const;
