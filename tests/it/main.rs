
mod rules;
mod rules_fuzzy;
mod rules_cli;
