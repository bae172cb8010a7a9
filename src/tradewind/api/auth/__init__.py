"""Authentication and authorization of API requests: a backend plug-in and role checks."""
