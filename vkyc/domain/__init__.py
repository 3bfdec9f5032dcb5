"""Pure domain: state enums, transition tables and policies. Imports nothing else of vkyc."""
