"""`make reliability`: fault soak, redelivery storm, hostile input, authentication and privacy checks."""
