import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { UserDirectory } from '../projects/user-directory';
import { User } from './user.entity';

/** Auth's answer to projects' UserDirectory: reads the users table it owns. */
@Injectable()
export class UsersDirectory extends UserDirectory {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {
    super();
  }

  async findByEmail(email: string): Promise<{ id: string; email: string } | null> {
    const user = await this.users.findOne({ where: { email }, select: { id: true, email: true } });
    return user ? { id: user.id, email: user.email } : null;
  }
}
