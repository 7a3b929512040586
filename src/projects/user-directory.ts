/**
 * What projects need to know about users (the `users` table belongs to auth/): who has an email.
 * Implemented by auth/ (UsersDirectory), which sits above projects/; provided globally by AuthModule.
 */
export abstract class UserDirectory {
  /** The user with this (already lower-cased) email, else null. */
  abstract findByEmail(email: string): Promise<{ id: string; email: string } | null>;
}
