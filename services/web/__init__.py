"""The web app: server-rendered pages for reps, sales engineers, managers and admins, on the same APIs."""
