"""The seven console scripts of the exam session isolation contract."""
