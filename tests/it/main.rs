
mod rules;
mod rules_fuzzy;
