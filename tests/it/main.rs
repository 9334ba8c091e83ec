
mod rules;
