/** Seeds of the mutation judges' random runs: fixed, so that a score is comparable from one run to the next. */
export const MUTATION_SEEDS = [101, 102, 103] as const;
